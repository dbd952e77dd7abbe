CREATE TABLE schema_migrations (
    name TEXT PRIMARY KEY,
    applied_at INTEGER NOT NULL
);
CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            title_source TEXT NOT NULL DEFAULT 'placeholder'
                CHECK (title_source IN ('placeholder', 'auto', 'user')),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            model TEXT,
            reasoning_effort TEXT NOT NULL DEFAULT 'medium'
                CHECK (reasoning_effort IN ('low', 'medium', 'high')),
            settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
            pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1))
        );
CREATE INDEX conversations_sidebar ON conversations (archived, pinned, updated_at, id);
CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            started_at INTEGER NOT NULL,
            prompt_tokens INTEGER,
            reused_tokens INTEGER,
            generated_tokens INTEGER,
            time_to_first_token_s REAL,
            tokens_per_second REAL,
            finish_reason TEXT
        );
CREATE INDEX turns_by_conversation ON turns (conversation_id);
CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            turn_id INTEGER REFERENCES turns (id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'developer', 'user', 'assistant', 'tool')),
            name TEXT,
            channel TEXT,
            recipient TEXT,
            content_type TEXT,
            content TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'streaming', 'interrupted', 'error')),
            error TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (conversation_id, position)
        );
CREATE INDEX messages_by_turn ON messages (turn_id);
CREATE INDEX messages_streaming ON messages (id) WHERE status = 'streaming';
CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            file_name TEXT NOT NULL,
            kind TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            text TEXT NOT NULL,
            token_count INTEGER NOT NULL CHECK (token_count >= 0),
            page_count INTEGER,
            mode TEXT NOT NULL CHECK (mode IN ('inline', 'search')),
            created_at INTEGER NOT NULL
        );
CREATE INDEX attachments_by_conversation ON attachments (conversation_id);
CREATE INDEX attachments_by_message ON attachments (message_id);
CREATE VIEW searchable_messages AS
            SELECT id, content FROM messages WHERE status != 'streaming' AND (role = 'user' OR (role = 'assistant' AND recipient IS NULL AND coalesce(channel, '') != 'analysis'));
CREATE VIRTUAL TABLE message_fts USING fts5 (
            content, content = 'searchable_messages', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        );
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.status != 'streaming' AND (new.role = 'user' OR (new.role = 'assistant' AND new.recipient IS NULL AND coalesce(new.channel, '') != 'analysis')) BEGIN
            INSERT INTO message_fts (rowid, content) VALUES (new.id, new.content);
        END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.status != 'streaming' AND (old.role = 'user' OR (old.role = 'assistant' AND old.recipient IS NULL AND coalesce(old.channel, '') != 'analysis')) BEGIN
            INSERT INTO message_fts (message_fts, rowid, content) VALUES ('delete', old.id, old.content);
        END;
CREATE TRIGGER messages_fts_update
        AFTER UPDATE OF content, status, role, channel, recipient ON messages BEGIN
            INSERT INTO message_fts (message_fts, rowid, content)
                SELECT 'delete', old.id, old.content WHERE old.status != 'streaming' AND (old.role = 'user' OR (old.role = 'assistant' AND old.recipient IS NULL AND coalesce(old.channel, '') != 'analysis'));
            INSERT INTO message_fts (rowid, content) SELECT new.id, new.content WHERE new.status != 'streaming' AND (new.role = 'user' OR (new.role = 'assistant' AND new.recipient IS NULL AND coalesce(new.channel, '') != 'analysis'));
        END;
CREATE VIRTUAL TABLE conversation_fts USING fts5 (
            title, content = 'conversations', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        );
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
            INSERT INTO conversation_fts (rowid, title) VALUES (new.id, new.title);
        END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
            INSERT INTO conversation_fts (conversation_fts, rowid, title)
                VALUES ('delete', old.id, old.title);
        END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
            INSERT INTO conversation_fts (conversation_fts, rowid, title)
                VALUES ('delete', old.id, old.title);
            INSERT INTO conversation_fts (rowid, title) VALUES (new.id, new.title);
        END;
CREATE TABLE "tool_calls" (
            message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
            state TEXT NOT NULL CHECK (state IN
                ('waiting_approval', 'running', 'done', 'failed', 'denied', 'cancelled', 'interrupted')),
            result_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
            duration_s REAL,
            error TEXT
        );
CREATE INDEX tool_calls_by_result ON tool_calls (result_message_id);
CREATE INDEX tool_calls_unfinished ON tool_calls (message_id)
            WHERE state IN ('waiting_approval', 'running');
INSERT INTO schema_migrations (name, applied_at) VALUES ('001_conversations_turns_messages', 0);
INSERT INTO schema_migrations (name, applied_at) VALUES ('002_tool_calls_attachments', 0);
INSERT INTO schema_migrations (name, applied_at) VALUES ('003_full_text_search', 0);
INSERT INTO schema_migrations (name, applied_at) VALUES ('004_tool_call_cancelled', 0);
PRAGMA user_version = 4;

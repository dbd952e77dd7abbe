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
INSERT INTO schema_migrations (name, applied_at) VALUES ('001_conversations_turns_messages', 0);
PRAGMA user_version = 1;

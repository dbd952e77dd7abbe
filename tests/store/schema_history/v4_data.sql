-- Sample data as schema version 4 stored it (written by hand against v4.sql; never edit once shipped).
INSERT INTO conversations (id, title, title_source, created_at, updated_at, model, reasoning_effort, settings,
                           pinned, archived)
VALUES (1, 'Weather in Tokyo', 'user', 1754400000000, 1754400090000, 'gpt-oss-20b', 'high',
        '{"temperature": 1.0}', 1, 0),
       (2, 'How do I make lasagne?', 'auto', 1754300000000, 1754300010000, 'gpt-oss-120b', 'low', '{}', 0, 1);
INSERT INTO turns (id, conversation_id, started_at, prompt_tokens, reused_tokens, generated_tokens,
                   time_to_first_token_s, tokens_per_second, finish_reason)
VALUES (1, 1, 1754400000000, 120, 0, 45, 0.8, 21.5, 'return'),
       (2, 1, 1754400060000, NULL, NULL, NULL, NULL, NULL, NULL),
       (3, 2, 1754300000000, 80, 0, 30, 0.5, 30.0, 'return');
INSERT INTO messages (id, conversation_id, position, turn_id, role, name, channel, recipient, content_type, content,
                      status, error, created_at)
VALUES (1, 1, 0, 1, 'user', NULL, NULL, NULL, NULL, 'What is the weather in Tokyo?', 'complete', NULL,
        1754400000000),
       (2, 1, 1, 1, 'assistant', NULL, 'analysis', NULL, NULL, 'Need to check the forecast.', 'complete', NULL,
        1754400001000),
       (3, 1, 2, 1, 'assistant', NULL, 'final', NULL, NULL, 'It is sunny in Tokyo, 24 °C.', 'complete', NULL,
        1754400002000),
       (4, 1, 3, 2, 'user', NULL, NULL, NULL, NULL, 'And in Reykjavík?', 'complete', NULL, 1754400060000),
       (5, 1, 4, 2, 'assistant', NULL, 'final', NULL, NULL, 'It is cold and wi', 'streaming', NULL, 1754400090000),
       (6, 2, 0, 3, 'user', NULL, NULL, NULL, NULL, 'How do I make lasagne?', 'complete', NULL, 1754300000000),
       (7, 2, 1, 3, 'assistant', NULL, 'final', NULL, NULL, 'Layer pasta, ragù and béchamel.', 'complete', NULL,
        1754300010000);
-- Version 2 added tool calls and attachments: a call in turn 1 with its result, and a document in turn 3.
INSERT INTO messages (id, conversation_id, position, turn_id, role, name, channel, recipient, content_type, content,
                      status, error, created_at)
VALUES (8, 1, 5, 2, 'assistant', NULL, 'commentary', 'functions.get_weather', '<|constrain|>json',
        '{"location": "Reykjavik"}', 'complete', NULL, 1754400091000),
       (9, 1, 6, 2, 'tool', 'functions.get_weather', 'commentary', 'assistant', NULL, '{"temperature": 4}',
        'complete', NULL, 1754400092000);
INSERT INTO tool_calls (message_id, state, result_message_id, duration_s, error)
VALUES (8, 'done', 9, 0.25, NULL);
INSERT INTO attachments (id, conversation_id, message_id, file_name, kind, sha256, text, token_count, page_count,
                         mode, created_at)
VALUES (1, 2, 6, 'nonna.pdf', 'application/pdf',
        '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'Nonna''s lasagne: three layers.',
        9, 1, 'inline', 1754300000000);

-- Sample data as schema version 1 stored it (written by hand against v1.sql; never edit once shipped).
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

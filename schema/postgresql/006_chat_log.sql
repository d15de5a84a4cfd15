-- The usage log (twin of schema/006_chat_log.sql): one row per chat request, written after the
-- answer ended through the group committer; pruned by chat-log-prune after [chat] log_days.
CREATE TABLE chat_log (
  id                bigserial PRIMARY KEY,
  openid            text    NOT NULL,
  model             text    NOT NULL,
  endpoint          text    NOT NULL,            -- 'original' or 'openai'
  started_at        bigint  NOT NULL,            -- UTC ms the request arrived
  ttft_ms           bigint,                      -- until the first piece of text; NULL: none came
  duration_ms       bigint  NOT NULL,
  prompt_tokens     bigint,                      -- from the upstream's usage; NULL: not reported
  completion_tokens bigint,
  outcome           text    NOT NULL             -- ok | cancelled | upstream:<kind> | refused:<check>
);
CREATE INDEX chat_log_started ON chat_log (started_at);
CREATE INDEX chat_log_user ON chat_log (openid, started_at);

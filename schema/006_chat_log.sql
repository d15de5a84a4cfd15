-- The usage log: one row per chat request, written after the answer ended (through the group
-- committer, never on the answer's path). Pruned by the chat-log-prune job after [chat] log_days.
CREATE TABLE chat_log (
  id                INTEGER PRIMARY KEY,
  openid            TEXT    NOT NULL,
  model             TEXT    NOT NULL,
  endpoint          TEXT    NOT NULL,            -- 'original' or 'openai'
  started_at        INTEGER NOT NULL,            -- UTC ms the request arrived
  ttft_ms           INTEGER,                     -- until the first piece of text; NULL: none came
  duration_ms       INTEGER NOT NULL,
  prompt_tokens     INTEGER,                     -- from the upstream's usage; NULL: not reported
  completion_tokens INTEGER,
  outcome           TEXT    NOT NULL             -- ok | cancelled | upstream:<kind> | refused:<check>
);
-- Reports and pruning select by time; `user show` by user, then time.
CREATE INDEX chat_log_started ON chat_log (started_at);
CREATE INDEX chat_log_user ON chat_log (openid, started_at);

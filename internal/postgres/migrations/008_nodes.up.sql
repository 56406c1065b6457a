-- Step 10: cluster mode.
--
-- Each `picloud node`'s last report (its registration and every heartbeat
-- carry the whole record), so that every manager on the database lists every
-- node. components is the node's own health as a JSON object ('{}': none);
-- registered_at is kept from the first report, last_heartbeat is the
-- manager's clock when the latest one arrived.
CREATE TABLE nodes (
    name           TEXT PRIMARY KEY,
    address        TEXT NOT NULL DEFAULT '',
    version        TEXT NOT NULL DEFAULT '',
    capacity       BIGINT NOT NULL DEFAULT 0,
    load           BIGINT NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT '',
    components     TEXT NOT NULL DEFAULT '{}',
    journal_bytes  BIGINT NOT NULL DEFAULT 0,
    started_at     TIMESTAMPTZ NOT NULL,
    last_heartbeat TIMESTAMPTZ NOT NULL,
    registered_at  TIMESTAMPTZ NOT NULL
);

-- The node that ran an execution ('': the all-in-one server or the manager
-- itself, and every row written before cluster mode). A constant default:
-- PostgreSQL adds the column without rewriting the table.
ALTER TABLE executions ADD COLUMN node TEXT NOT NULL DEFAULT '';

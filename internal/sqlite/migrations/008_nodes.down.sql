ALTER TABLE executions DROP COLUMN node;
DROP TABLE nodes;

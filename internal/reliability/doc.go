// Package reliability is PiCloud's reliability suite. Its tests build the real
// binary, run it as a separate process on loopback and hurt it the ways an
// operator or an attacker would: kill -9 and SIGTERM under load, kill -9
// while a schedule fires (its missed firings at restart, by policy), the
// database cut away under load (through a TCP proxy inside the test),
// byte-heavy scripts under a process memory limit, sessions minted from what
// a database reader sees, and script responses that try to act as the
// dashboard. TestCluster does the same to a cluster: a manager on
// PostgreSQL, two nodes and Caddy (with deploy/Caddyfile.cluster), a node and
// the manager killed under load, a schedule with two managers.
//
// The package has no code outside its tests. Run it with
//
//	go test ./internal/reliability -v
//
// Every scenario runs on SQLite, and on PostgreSQL when
// PICLOUD_TEST_DATABASE_URL is set (each in a fresh database of its own);
// the cluster's runs on PostgreSQL only, and only with caddy on PATH. The
// figures the scenarios measure are logged as lines starting with "RESULT".
package reliability

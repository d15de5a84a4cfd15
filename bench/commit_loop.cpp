/* The durable-write peer: single-row commits in a loop on the same disk, WAL mode,
 * synchronous=FULL (BEGIN; INSERT one row; COMMIT;) for SECONDS; prints commits per second.
 *   bench_commit_loop DB_FILE [SECONDS]      (default 2) */
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

static int exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    fprintf(stderr, "bench_commit_loop: %s: %s\n", sql, error);
    sqlite3_free(error);
    return 0;
  }
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: bench_commit_loop DB_FILE [SECONDS]\n");
    return 2;
  }
  const double seconds = argc == 3 ? std::atof(argv[2]) : 2.0;
  sqlite3* db = nullptr;
  if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
    fprintf(stderr, "bench_commit_loop: cannot open %s\n", argv[1]);
    return 1;
  }
  if (!exec(db, "PRAGMA journal_mode=WAL") || !exec(db, "PRAGMA synchronous=FULL") ||
      !exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)"))
    return 1;
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES ('one row of about forty bytes of payload')", -1,
                     &insert, nullptr);
  long commits = 0;
  const double start = now();
  double elapsed = 0;
  while ((elapsed = now() - start) < seconds) {
    if (!exec(db, "BEGIN")) return 1;
    if (sqlite3_step(insert) != SQLITE_DONE) return 1;
    sqlite3_reset(insert);
    if (!exec(db, "COMMIT")) return 1;
    ++commits;
  }
  printf("%.0f\n", static_cast<double>(commits) / elapsed);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return 0;
}

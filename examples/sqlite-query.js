// sqlite-query.js: a small SQLite session through the C API. Opens an in-memory database,
// creates and fills a table, and runs a query with sqlite3_exec, whose per-row callback is a
// JSCallback that reads the C `char **` arrays with read.ptr and CString.
// Run from the repository root: node examples/sqlite-query.js
"use strict";
const { dlopen, JSCallback, CString, read, ptr, suffix } = require("cffi");

const { symbols: sqlite, close } = dlopen(`libsqlite3.${suffix}`, {
  sqlite3_open: { args: ["cstring", "ptr"], returns: "i32" },
  // int sqlite3_exec(sqlite3*, const char *sql, int (*cb)(void*, int, char**, char**), void*, char **errmsg)
  sqlite3_exec: { args: ["ptr", "cstring", "function", "ptr", "ptr"], returns: "i32" },
  sqlite3_errmsg: { args: ["ptr"], returns: "cstring" },
  sqlite3_free: { args: ["ptr"], returns: "void" },
  sqlite3_close: { args: ["ptr"], returns: "i32" },
});

// sqlite3_open writes the database handle into a `sqlite3 **`: give it 8 bytes to write to.
const out = new BigUint64Array(1);
if (sqlite.sqlite3_open(":memory:", out) !== 0) throw new Error("sqlite3_open failed");
const db = read.ptr(ptr(out));

// Runs SQL; `onRow(row)` gets each result row as { column: text or null }.
function exec(sql, onRow = null) {
  const errmsg = new BigUint64Array(1);
  const callback = onRow && new JSCallback(
    (_ctx, ncols, values, names) => {
      const row = {};
      for (let i = 0; i < ncols; i++) {
        const name = new CString(read.ptr(names, i * 8)).toString();
        const value = read.ptr(values, i * 8);
        row[name] = value ? CString(value) : null; // a NULL column value is a NULL pointer
      }
      onRow(row);
      return 0; // non-zero would abort the query
    },
    { args: ["ptr", "i32", "ptr", "ptr"], returns: "i32" },
  );
  try {
    const rc = sqlite.sqlite3_exec(db, sql, callback, null, errmsg);
    if (rc !== 0) {
      const p = read.ptr(ptr(errmsg));
      const message = CString(p);
      sqlite.sqlite3_free(p);
      throw new Error(`SQLite error ${rc}: ${message}`);
    }
  } finally {
    if (callback) callback.close();
  }
}

exec(`CREATE TABLE fruit (name TEXT NOT NULL, color TEXT, price REAL);
      INSERT INTO fruit VALUES ('apple', 'red', 0.5), ('banana', 'yellow', 0.25),
                               ('cherry', 'red', 3), ('durian', NULL, 12.5);`);
exec("SELECT name, color, price FROM fruit ORDER BY price DESC", (row) => {
  console.log(`${row.name.padEnd(7)} ${String(row.color).padEnd(7)} ${row.price}`);
});
let total = 0;
exec("SELECT count(*) AS n FROM fruit WHERE color = 'red'", (row) => { total = Number(row.n); });
console.log(`red fruit: ${total}`);

try {
  exec("SELECT * FROM vegetables");
} catch (e) {
  console.log(e.message);
}

sqlite.sqlite3_close(db);
close();

// Expected output:
// durian  null    12.5
// cherry  red     3.0
// apple   red     0.5
// banana  yellow  0.25
// red fruit: 2
// SQLite error 1: no such table: vegetables

/**
 * Unit tests of the state database (`lib/state/db.ts`: WAL, busy timeout, schema version,
 * transactions) and of the container rows' name and ID-prefix lookups (`lib/container/repo.ts`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  BUSY_TIMEOUT_MS,
  openStateDb,
  SCHEMA_VERSION,
  type StateDb,
  StateDbError,
} from "../lib/state/db.ts";
import { ContainerRepo } from "../lib/container/repo.ts";
import { type ContainerConfig, initialState } from "../lib/container/config.ts";
import { AmbiguousNameError, NameInUseError, NoSuchContainerError } from "../lib/errors.ts";

/** Runs `fn` with a fresh database file in a temp dir, closing and deleting it after. */
async function withDb(fn: (db: StateDb, path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "denopod-db-" });
  const path = join(dir, "state.db");
  const db = openStateDb(path);
  try {
    await fn(db, path);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const exitCodeIds = (db: StateDb): string[] =>
  db.all<{ id: string }>("SELECT id FROM exit_codes ORDER BY id").map((r) => r.id);

const addExitCode = (db: StateDb, id: string) =>
  db.run(
    "INSERT INTO exit_codes (id, name, exit_code, finished) VALUES (?, ?, 0, 'now')",
    id,
    id,
  );

Deno.test("openStateDb turns on WAL and the busy timeout", async () => {
  await withDb((db, path) => {
    assert.equal(db.get<{ journal_mode: string }>("PRAGMA journal_mode")?.journal_mode, "wal");
    assert.equal(db.get<{ timeout: number }>("PRAGMA busy_timeout")?.timeout, BUSY_TIMEOUT_MS);
    addExitCode(db, "a");
    assert.ok(Deno.statSync(`${path}-wal`).isFile, "a write goes to the -wal file");
  });
});

Deno.test("openStateDb writes the schema and its version, and reopens without migrating", async () => {
  await withDb((db, path) => {
    assert.ok(SCHEMA_VERSION >= 1);
    assert.equal(
      db.get<{ user_version: number }>("PRAGMA user_version")?.user_version,
      SCHEMA_VERSION,
    );
    const tables = db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    ).map((r) => r.name);
    assert.deepEqual(tables, [
      "containers",
      "events",
      "exit_codes",
      "image_names",
      "images",
      "intents",
      "layers",
      "network_leases",
      "published_ports",
      "sqlite_sequence",
    ]);
    addExitCode(db, "kept");
    const again = openStateDb(path);
    try {
      assert.deepEqual(exitCodeIds(again), ["kept"]);
      assert.equal(
        again.get<{ user_version: number }>("PRAGMA user_version")?.user_version,
        SCHEMA_VERSION,
      );
    } finally {
      again.close();
    }
  });
});

Deno.test("a transaction commits when its function returns", async () => {
  await withDb((db) => {
    const result = db.transaction(() => {
      addExitCode(db, "a");
      addExitCode(db, "b");
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(exitCodeIds(db), ["a", "b"]);
  });
});

Deno.test("a transaction rolls back everything when its function throws", async () => {
  await withDb((db) => {
    addExitCode(db, "before");
    const boom = new Error("boom");
    assert.throws(
      () =>
        db.transaction(() => {
          addExitCode(db, "lost");
          db.run("DELETE FROM exit_codes WHERE id = 'before'");
          throw boom;
        }),
      (err) => err === boom,
    );
    assert.deepEqual(exitCodeIds(db), ["before"]);
    // The database is usable again: the next transaction commits.
    db.transaction(() => addExitCode(db, "after"));
    assert.deepEqual(exitCodeIds(db), ["after", "before"]);
  });
});

Deno.test("a nested transaction joins the outer one", async () => {
  await withDb((db) => {
    // The inner call neither commits on its own nor opens a second BEGIN (which would throw).
    assert.throws(
      () =>
        db.transaction(() => {
          const inner = db.transaction(() => {
            addExitCode(db, "inner");
            return "inner result";
          });
          assert.equal(inner, "inner result");
          addExitCode(db, "outer");
          throw new Error("outer fails");
        }),
      /outer fails/,
    );
    assert.deepEqual(exitCodeIds(db), [], "the outer rollback undid the inner work too");
    db.transaction(() => {
      db.transaction(() => addExitCode(db, "inner"));
      addExitCode(db, "outer");
    });
    assert.deepEqual(exitCodeIds(db), ["inner", "outer"]);
  });
});

Deno.test("two connections to one file see each other's committed rows", async () => {
  await withDb((db, path) => {
    const other = openStateDb(path);
    try {
      other.transaction(() => addExitCode(other, "other"));
      db.transaction(() => {
        assert.deepEqual(exitCodeIds(db), ["other"]);
        addExitCode(db, "mine");
      });
      assert.deepEqual(exitCodeIds(other), ["mine", "other"]);
    } finally {
      other.close();
    }
  });
});

Deno.test("opening a database with a newer schema version is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-db-" });
  try {
    const path = join(dir, "state.db");
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(
      () => openStateDb(path),
      (err) =>
        err instanceof StateDbError &&
        err.message ===
          `state database schema ${
            SCHEMA_VERSION + 1
          } is newer than this denopod understands (${SCHEMA_VERSION})` &&
        !err.message.includes("\n"),
    );
    const check = new DatabaseSync(path, { readOnly: true });
    try {
      const version = check.prepare("PRAGMA user_version").get() as { user_version: number };
      assert.equal(version.user_version, SCHEMA_VERSION + 1, "the file was left as it was");
      assert.deepEqual(
        check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all(),
        [],
        "no table was created",
      );
    } finally {
      check.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("opening a file that is not a database is refused, naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denopod-db-" });
  try {
    const path = join(dir, "state.db");
    Deno.writeTextFileSync(path, "not a database\n".repeat(1000));
    assert.throws(
      () => openStateDb(path),
      (err) =>
        err instanceof StateDbError &&
        err.message === `cannot use the state database ${path}: file is not a database`,
    );
    assert.equal(Deno.readTextFileSync(path), "not a database\n".repeat(1000));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- container lookups ----

const IMAGE_ID = "f".repeat(64);

function config(id: string, name: string): ContainerConfig {
  return {
    id,
    name,
    imageId: IMAGE_ID,
    imageName: "localhost/busybox:latest",
    command: ["true"],
    entrypoint: [],
    cmd: ["true"],
    env: [],
    workdir: "/",
    user: "",
    hostname: id.slice(0, 12),
    labels: {},
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    addHosts: [],
    noHosts: false,
    network: "private",
    shmSize: 65536 * 1024,
    volumes: [],
    stopSignal: 15,
    stopTimeout: 10,
    autoRemove: false,
    created: new Date().toISOString(),
  };
}

/** Runs `fn` with a repo holding containers `name → id` for each pair given. */
async function withRepo(
  containers: [string, string][],
  fn: (repo: ContainerRepo, db: StateDb) => void,
): Promise<void> {
  await withDb((db) => {
    db.run(
      "INSERT INTO images (id, config, layers, created) VALUES (?, '{}', '[]', 'now')",
      IMAGE_ID,
    );
    const repo = new ContainerRepo(db);
    for (const [name, id] of containers) {
      repo.insert({ config: config(id, name), state: initialState() });
    }
    fn(repo, db);
  });
}

const ID_A = "abc1" + "0".repeat(60);
const ID_B = "abc2" + "0".repeat(60);
const ID_C = "def0" + "0".repeat(60);

Deno.test("repo finds a container by exact name, full ID and unique ID prefix", async () => {
  await withRepo([["web", ID_A], ["db", ID_B], ["cache", ID_C]], (repo) => {
    assert.equal(repo.find("web")?.config.id, ID_A);
    assert.equal(repo.find(ID_B)?.config.name, "db");
    assert.equal(repo.find("abc2")?.config.name, "db");
    assert.equal(repo.find("d")?.config.name, "cache");
    assert.equal(repo.find("abc3"), undefined);
    assert.equal(repo.find("we"), undefined, "names are never matched by prefix");
    assert.equal(repo.find(""), undefined);
    assert.equal(repo.find("ABC1"), undefined, "IDs are lower-case hex");
  });
});

Deno.test("repo refuses an ambiguous ID prefix with a clear error", async () => {
  await withRepo([["web", ID_A], ["db", ID_B]], (repo) => {
    assert.throws(
      () => repo.find("abc"),
      (err) =>
        err instanceof AmbiguousNameError &&
        err.message ===
          'more than one result for container ID prefix "abc": container ID is ambiguous',
    );
    assert.throws(() => repo.resolve("a"), AmbiguousNameError);
  });
});

Deno.test("repo: an exact name wins over an ID prefix it also matches", async () => {
  // "abc" is the name of one container and a prefix of two others' IDs.
  await withRepo([["abc", ID_C], ["x", ID_A], ["y", ID_B]], (repo) => {
    assert.equal(repo.find("abc")?.config.id, ID_C);
    assert.equal(repo.resolve("abc").config.name, "abc");
  });
  // A name that is another container's unique ID prefix also wins.
  await withRepo([["abc1", ID_C], ["x", ID_A]], (repo) => {
    assert.equal(repo.find("abc1")?.config.id, ID_C);
    assert.equal(repo.find("abc10")?.config.id, ID_A);
  });
});

Deno.test("repo.resolve names the missing container in podman's words", async () => {
  await withRepo([["web", ID_A]], (repo) => {
    assert.throws(
      () => repo.resolve("nosuch"),
      (err) =>
        err instanceof NoSuchContainerError &&
        err.message === 'no container with name or ID "nosuch" found: no such container',
    );
  });
});

Deno.test("repo.insert refuses a taken name and writes no row", async () => {
  await withRepo([["web", ID_A]], (repo) => {
    assert.throws(
      () => repo.insert({ config: config(ID_B, "web"), state: initialState() }),
      (err) =>
        err instanceof NameInUseError &&
        err.message.startsWith(`the container name "web" is already in use by ${ID_A}. `),
    );
    assert.deepEqual(repo.list().map((r) => r.config.id), [ID_A]);
    assert.equal(repo.get(ID_B), undefined);
  });
});

Deno.test("close keeps the -wal and -shm files for the next run (a full disk can still open)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state.db`;
    const db = openStateDb(path);
    db.transaction(() => db.run("INSERT INTO exit_codes VALUES ('a', 'a', 0, 'now')"));
    db.close();
    assert.ok(Deno.statSync(`${path}-wal`).isFile, "the WAL is kept");
    assert.equal(Deno.statSync(`${path}-shm`).size, 32768, "the WAL index keeps its size");
    const again = openStateDb(path);
    try {
      assert.equal(again.get<{ n: number }>("SELECT count(*) AS n FROM exit_codes")?.n, 1);
    } finally {
      again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a connection that only reads leaves the main file unwritten at close (no checkpoint)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state.db`;
    const db = openStateDb(path);
    db.transaction(() => db.run("INSERT INTO exit_codes VALUES ('a', 'a', 0, 'now')"));
    db.close();
    const before = Deno.statSync(path).mtime?.getTime();
    // a reader opens after the last close (the WAL index is rebuilt from the kept WAL), reads, closes
    const reader = openStateDb(path);
    assert.equal(reader.get<{ n: number }>("SELECT count(*) AS n FROM exit_codes")?.n, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    reader.close();
    assert.equal(Deno.statSync(path).mtime?.getTime(), before, "the main file was not rewritten");
    assert.ok(Deno.statSync(`${path}-wal`).isFile, "the WAL is still kept");
    const writer = openStateDb(path);
    writer.transaction(() => writer.run("INSERT INTO exit_codes VALUES ('b', 'b', 0, 'now')"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    writer.close();
    assert.notEqual(Deno.statSync(path).mtime?.getTime(), before, "a writer's close checkpoints");
    const immutable = new DatabaseSync(`file:${encodeURI(path)}?immutable=1`, { readOnly: true });
    try {
      const row = immutable.prepare("SELECT count(*) AS n FROM exit_codes").get() as { n: number };
      assert.equal(row.n, 2, "the main file alone holds every row");
    } finally {
      immutable.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// One `users` table through each ORM on each database, behind the same small interface, so the
// scenarios in scenarios.mjs run unchanged on TypeORM and Drizzle, sql.js and PostgreSQL.
//
// Table users: id (integer key), ssn (encrypted text), photo (encrypted bytes), prefs
// (encrypted JSON), email (encrypted text) and email_bidx (blind index text, if the run has one).
import 'reflect-metadata';
import initSqlJs from 'sql.js';
import pg from 'pg';
import { DataSource, EntitySchema } from 'typeorm';
import { eq } from 'drizzle-orm';
import { drizzle as drizzleSqlJs } from 'drizzle-orm/sql-js';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { integer, sqliteTable, text as sqliteText } from 'drizzle-orm/sqlite-core';
import { integer as pgInteger, pgTable, text as pgText } from 'drizzle-orm/pg-core';
import { blindIndexColumn, blindIndexSubscriber, blindIndexWhere, encryptedColumn } from 'keyroll/typeorm';
import * as dpg from 'keyroll/drizzle/pg';
import * as dsqlite from 'keyroll/drizzle/sqlite';

const TABLE = 'users';

/** The schema DDL (both ORMs use the same table; created by hand so both see identical SQL). */
function ddl(kind) {
  const bin = kind === 'pg' ? 'bytea' : 'blob';
  return `CREATE TABLE ${TABLE} (id integer PRIMARY KEY, ssn text, photo ${bin}, prefs text, email text, email_bidx text)`;
}

/** A PostgreSQL database of its own for one test file (dropped first if left from a crash). */
export async function freshPgDatabase(name) {
  const url = process.env.KEYROLL_TEST_PG_URL;
  if (!url) throw new Error('KEYROLL_TEST_PG_URL must name a PostgreSQL server (scripts/ci/50-cli.sh starts one)');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Raw SQL on the database behind an adapter: `query(text, params) -> rows`. */
function rawSqlJs(db) {
  return async (text, params = []) => {
    const stmt = db.prepare(text.replace(/\$\d+/g, '?'));
    try {
      stmt.bind(params);
      const rows = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return rows;
    } finally {
      stmt.free();
    }
  };
}

function rawPg(pool) {
  return async (text, params = []) => (await pool.query(text, params)).rows;
}

/**
 * TypeORM on `kind` ('sqljs' | 'pg'); `keyring` is a Keyring or a function returning one;
 * `blind` (optional) is the BlindIndexColumn over email (filled by the subscriber); `database`
 * (sql.js) opens an existing file's bytes and `existing` an existing table (PostgreSQL) instead
 * of creating it.
 */
export async function typeormAdapter(kind, { keyring, url, blind, database, existing }) {
  const bin = kind === 'pg' ? 'bytea' : 'blob';
  const User = new EntitySchema({
    name: 'User',
    tableName: TABLE,
    columns: {
      id: { type: 'integer', primary: true },
      ssn: encryptedColumn('text', { keyring, table: TABLE, column: 'ssn' }),
      photo: encryptedColumn('bytes', { keyring, table: TABLE, column: 'photo', type: bin }),
      prefs: encryptedColumn('json', { keyring, table: TABLE, column: 'prefs' }),
      email: encryptedColumn('text', { keyring, table: TABLE, column: 'email' }),
      emailBidx: blindIndexColumn({ column: 'email_bidx' }),
    },
  });
  const subscribers = blind ? [blindIndexSubscriber(User, { emailBidx: blind })] : [];
  const ds = new DataSource(
    kind === 'pg'
      ? { type: 'postgres', url, entities: [User], subscribers }
      : { type: 'sqljs', entities: [User], subscribers, ...(database ? { database } : {}) },
  );
  await ds.initialize();
  if (!database && !existing) {
    await ds.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await ds.query(ddl(kind));
  }
  const repo = ds.getRepository(User);
  return {
    name: `typeorm/${kind}`,
    raw: (text, params = []) => ds.query(kind === 'pg' ? text : text.replace(/\$\d+/g, '?'), params),
    insert: async (rows) => {
      await repo.insert(rows.map((r) => ({ ...r })));
    },
    all: () => repo.find({ order: { id: 'ASC' } }),
    byId: (id) => repo.findOneByOrFail({ id }),
    save: (entity) => repo.save(entity),
    update: (id, values) => repo.update({ id }, values),
    findByEmail: (value) => repo.find({ where: { emailBidx: blindIndexWhere(blind, value) }, order: { id: 'ASC' } }),
    exportBytes: () => ds.sqljsManager.exportDatabase(),
    close: () => ds.destroy(),
  };
}

/** Drizzle on `kind` ('sqljs' | 'pg'), same interface as typeormAdapter. */
export async function drizzleAdapter(kind, { keyring, url, blind, database: bytes, existing }) {
  let db;
  let raw;
  let close;
  let users;
  let exportBytes;
  if (kind === 'pg') {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    db = drizzlePg(pool);
    raw = rawPg(pool);
    close = () => pool.end();
    users = pgTable(TABLE, {
      id: pgInteger('id').primaryKey(),
      ssn: dpg.encryptedText({ keyring, table: TABLE, column: 'ssn' }),
      photo: dpg.encryptedBytes({ keyring, table: TABLE, column: 'photo' }),
      prefs: dpg.encryptedJson({ keyring, table: TABLE, column: 'prefs' }),
      email: dpg.encryptedText({ keyring, table: TABLE, column: 'email' }),
      emailBidx: pgText('email_bidx'),
    });
  } else {
    const SQL = await initSqlJs();
    const database = new SQL.Database(bytes);
    db = drizzleSqlJs(database);
    raw = rawSqlJs(database);
    close = async () => database.close();
    exportBytes = () => database.export();
    users = sqliteTable(TABLE, {
      id: integer('id').primaryKey(),
      ssn: dsqlite.encryptedText({ keyring, table: TABLE, column: 'ssn' }),
      photo: dsqlite.encryptedBytes({ keyring, table: TABLE, column: 'photo' }),
      prefs: dsqlite.encryptedJson({ keyring, table: TABLE, column: 'prefs' }),
      email: dsqlite.encryptedText({ keyring, table: TABLE, column: 'email' }),
      emailBidx: sqliteText('email_bidx'),
    });
  }
  if (!bytes && !existing) {
    await raw(`DROP TABLE IF EXISTS ${TABLE}`);
    await raw(ddl(kind));
  }
  // Drizzle has no write hooks: the application computes the index beside the value.
  const withIndex = (r) => (blind && r.email !== undefined ? { ...r, emailBidx: blind.computeNullable(r.email) } : r);
  return {
    name: `drizzle/${kind}`,
    raw,
    insert: async (rows) => {
      await db.insert(users).values(rows.map(withIndex));
    },
    all: () => db.select().from(users).orderBy(users.id),
    byId: async (id) => {
      const rows = await db.select().from(users).where(eq(users.id, id));
      if (rows.length !== 1) throw new Error(`no row ${id}`);
      return rows[0];
    },
    save: async (entity) => {
      const { id, ...rest } = entity;
      await db.update(users).set(withIndex(rest)).where(eq(users.id, id));
    },
    update: async (id, values) => {
      await db.update(users).set(withIndex(values)).where(eq(users.id, id));
    },
    findByEmail: (value) =>
      db.select().from(users).where(dsqlite.blindIndexWhere(users.emailBidx, blind, value)).orderBy(users.id),
    exportBytes,
    close,
  };
}

export const ADAPTERS = { typeorm: typeormAdapter, drizzle: drizzleAdapter };

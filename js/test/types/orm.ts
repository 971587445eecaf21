// Compiled with `tsc --noEmit -p test/tsconfig.orm.json` against the published declarations of
// keyroll/typeorm and keyroll/drizzle/{pg,sqlite} (the package imports itself by name).
import { Keyring } from 'keyroll';
import {
  BlindIndexColumn,
  BlindIndexSubscriber,
  type EncryptedTransformer,
  blindIndexColumn,
  blindIndexSubscriber,
  blindIndexWhere,
  columnContext,
  encryptedColumn,
  encryptedTransformer,
} from 'keyroll/typeorm';
import * as pgCols from 'keyroll/drizzle/pg';
import * as sqliteCols from 'keyroll/drizzle/sqlite';
import { EntitySchema, type FindOperator, type ValueTransformer } from 'typeorm';
import { pgTable, serial, varchar } from 'drizzle-orm/pg-core';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { SQL } from 'drizzle-orm';

let current = Keyring.generate();
const keyring = (): Keyring => current;
current = Keyring.generate();

const ssn: EncryptedTransformer<'text'> = encryptedTransformer('text', { keyring, table: 'users', column: 'ssn' });
const asTransformer: ValueTransformer = ssn;
const sealed: string | null | undefined = ssn.to('078-05-1120');
const opened: string | null | undefined = ssn.from(sealed);
const photo = encryptedTransformer('bytes', { keyring: current, table: 'users', column: 'photo' });
const photoSealed: Uint8Array | null | undefined = photo.to(new Uint8Array(1));
const context: string = columnContext('users', 'ssn');

const email = new BlindIndexColumn({ keyring, table: 'users', source: 'email', bits: 96, normalizer: 'trim+casefold' });
const where: FindOperator<string> = blindIndexWhere(email, 'a@b.c');
const candidates: string[] = email.candidates('a@b.c');
const User = new EntitySchema<{ id: number; email: string | null; emailBidx: string | null }>({
  name: 'User',
  tableName: 'users',
  columns: {
    id: { type: Number, primary: true, generated: true },
    email: encryptedColumn('text', { keyring, table: 'users', column: 'email' }),
    emailBidx: blindIndexColumn({ column: 'email_bidx' }),
  },
});
const subscriber = new BlindIndexSubscriber(User, { emailBidx: email });
const SubscriberClass: new () => BlindIndexSubscriber = blindIndexSubscriber(User, { emailBidx: email });

const pgUsers = pgTable('users', {
  id: serial('id').primaryKey(),
  ssn: pgCols.encryptedText({ keyring, table: 'users', column: 'ssn' }),
  photo: pgCols.encryptedBytes({ keyring, table: 'users', column: 'photo' }),
  prefs: pgCols.encryptedJson<{ theme: string }>({ keyring, table: 'users', column: 'prefs' }),
  emailBidx: varchar('email_bidx', { length: pgCols.BLIND_INDEX_WIDTH }),
});
type PgRow = typeof pgUsers.$inferSelect;
const pgRow: PgRow = { id: 1, ssn: 'x', photo: new Uint8Array(1), prefs: { theme: 'dark' }, emailBidx: null };
const pgWhere: SQL = pgCols.blindIndexWhere(pgUsers.emailBidx, email, 'a@b.c');

const liteUsers = sqliteTable('users', {
  id: integer('id').primaryKey(),
  ssn: sqliteCols.encryptedText({ keyring, table: 'users', column: 'ssn' }),
  emailBidx: text('email_bidx'),
});
const liteWhere: SQL = sqliteCols.blindIndexWhere(liteUsers.emailBidx, email, 'a@b.c');

// @ts-expect-error a bytes column needs its binary type
encryptedColumn('bytes', { keyring, table: 'users', column: 'photo' });
// @ts-expect-error text columns hold strings
ssn.to(42);

export const used = [asTransformer, opened, photoSealed, context, where, candidates, subscriber, SubscriberClass, pgRow, pgWhere, liteWhere];

// keyroll/typeorm and keyroll/drizzle/pg on PostgreSQL (the server scripts/ci/50-cli.sh starts,
// KEYROLL_TEST_PG_URL): the encrypted-column scenarios of test/orm/scenarios.mjs for both ORMs,
// each in a database of its own.
import { test } from 'node:test';
import { ADAPTERS, freshPgDatabase } from '../orm/adapters.mjs';
import { encryptedColumnScenarios } from '../orm/scenarios.mjs';

for (const [orm, make] of Object.entries(ADAPTERS)) {
  let url;
  const options = async () => {
    url ??= await freshPgDatabase(`keyroll_orm_js_${orm}`);
    return { url };
  };
  encryptedColumnScenarios((name, fn) => test(`${orm}/pg: ${name}`, fn), make, 'pg', options);
}

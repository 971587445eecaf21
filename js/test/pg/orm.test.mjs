// keyroll/typeorm and keyroll/drizzle/pg on PostgreSQL (the server scripts/ci/50-cli.sh starts,
// KEYROLL_TEST_PG_URL): the encrypted-column scenarios of test/orm/scenarios.mjs for both ORMs,
// each in a database of its own.
import { test } from 'node:test';
import { ADAPTERS, freshPgDatabase } from '../orm/adapters.mjs';
import { blindIndexScenarios, encryptedColumnScenarios } from '../orm/scenarios.mjs';
import { pythonRowScenarios } from '../orm/python.mjs';

for (const [orm, make] of Object.entries(ADAPTERS)) {
  let url;
  const options = async () => {
    url ??= await freshPgDatabase(`keyroll_orm_js_${orm}`);
    return { url };
  };
  const named = (name, fn) => test(`${orm}/pg: ${name}`, fn);
  encryptedColumnScenarios(named, make, 'pg', options);
  blindIndexScenarios(named, make, 'pg', options);
}

// Rows written by the Python fields on this server, read in Node and back (test/orm/python.mjs).
for (const [orm, make] of Object.entries(ADAPTERS)) {
  pythonRowScenarios(test, make, orm, { kind: 'pg', url: () => freshPgDatabase(`keyroll_orm_js_py_${orm}`) });
}

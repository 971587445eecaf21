// Python-written rows on SQLite (a file written by SQLAlchemy, opened by sql.js) through both
// ORMs, and back: test/orm/python.mjs. Needs the .venv of scripts/ci/20-python.sh.
import { test } from 'node:test';
import { ADAPTERS } from './orm/adapters.mjs';
import { pythonRowScenarios } from './orm/python.mjs';

for (const [orm, make] of Object.entries(ADAPTERS)) pythonRowScenarios(test, make, orm, { kind: 'sqljs' });

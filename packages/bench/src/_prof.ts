import { createMemoryStore } from '@cloakroom/store-memory';
import { CLAIMS, cloakroomOver, makeFixture } from './fixture';
const f = await makeFixture();
const store = createMemoryStore({ maxSessions: 2_000_000 });
const cr = cloakroomOver(f, store);
for (let i = 0; i < 60000; i++) await cr.create(`p-${i % 97}`, { ...CLAIMS });
await cr.close();

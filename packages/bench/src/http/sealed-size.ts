// The size of one sealed Cloakroom record, so the peers carry as many bytes.
import { createMemoryStore } from '@cloakroom/store-memory';
import { CLAIMS, cloakroomOver, makeFixture } from '../fixture';

export async function sealedSize(): Promise<number> {
  const store = createMemoryStore();
  const cloakroom = cloakroomOver(await makeFixture(), store);
  try {
    const sample = await cloakroom.create('size-probe', { ...CLAIMS });
    const record = await store.get(sample.sessionId);
    if (record === null) throw new Error('the size probe session is missing');
    return record.payload.byteLength;
  } finally {
    await cloakroom.close();
  }
}

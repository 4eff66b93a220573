// A handler written for Amazon MSK's Lambda trigger, unchanged: `floe triggers create audit --topic
// orders --module ./examples/msk-handler.ts` runs it against a local topic (README, "Triggers").
import type { MSKHandler } from 'aws-lambda';

export const handler: MSKHandler = async (event) => {
  for (const [partition, records] of Object.entries(event.records)) {
    for (const r of records) {
      const value = r.value === null ? null : Buffer.from(r.value, 'base64').toString();
      console.log(`${partition}@${r.offset}: ${value}`);
    }
  }
};

import type { Kafka, Producer } from 'kafkajs';
import { orderedProducer } from '../../kafka';

const CITIES = ['Berlin', 'Toronto', 'Lyon', 'Osaka', 'Austin', 'Porto', 'Leeds', 'Gdansk'];

/**
 * Publishes sample merchants to the example pipeline's `merchants` entity topic:
 * an initial snapshot, then a trickle of updates, deletes and, now and then, a
 * malformed record, so the live view shows processing, compaction semantics and
 * dead-lettering. Stops when `stop()` is called.
 */
export async function startDemoTraffic(kafka: Kafka, options: { merchants: number; updatesPerSecond: number }) {
  const producer: Producer = orderedProducer(kafka);
  await producer.connect();
  const merchant = (id: number, revision: number) => ({
    key: `merchant-${id}`,
    value: JSON.stringify({ name: `Merchant ${id}`, city: CITIES[id % CITIES.length], revision }),
  });
  for (let start = 0; start < options.merchants; start += 500) {
    const ids = Array.from({ length: Math.min(500, options.merchants - start) }, (_, i) => start + i);
    await producer.send({ topic: 'merchants', messages: ids.map((id) => merchant(id, 1)) });
  }
  let tick = 0;
  let sending = Promise.resolve();
  const timer = setInterval(() => {
    tick += 1;
    const messages = Array.from({ length: options.updatesPerSecond }, () => {
      const id = Math.floor(Math.random() * options.merchants);
      return Math.random() < 0.02 ? { key: `merchant-${id}`, value: null } : merchant(id, tick + 1);
    });
    if (tick % 15 === 0) messages.push({ key: `merchant-broken-${tick}`, value: '{"name": "unterminated' });
    sending = sending.then(() => producer.send({ topic: 'merchants', messages }).then(() => undefined)).catch(() => undefined);
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await sending;
      await producer.disconnect();
    },
  };
}

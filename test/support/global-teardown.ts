export default async function globalTeardown(): Promise<void> {
  await globalThis.__LOCAL_RUNTIME__?.stop();
}

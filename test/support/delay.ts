/** Resolves after `ms` milliseconds; at once (on the next timer tick) when `ms` is zero or less. */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

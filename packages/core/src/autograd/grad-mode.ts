let gradEnabled = true;

/** Whether ops currently record onto the tape. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with gradient recording switched on or off, restoring the previous mode after. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    const result = fn();
    if (result instanceof Promise) throw new Error('noGrad/withGradMode: fn must be synchronous; a Promise was returned');
    return result;
  } finally {
    gradEnabled = previous;
  }
}

/** Runs `fn` without recording gradients (inference, evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

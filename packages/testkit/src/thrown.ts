/**
 * Runs `fn` and returns what it threw, so a test can assert on the error's code, message
 * and details together. Fails the test when `fn` returns normally.
 */
export function thrown<E = Error>(fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    return e as E;
  }
  throw new Error('expected the call to throw, but it returned');
}

/**
 * Makes `obj[key]` a property computed on first read (and settable): the read paths keep a persona's
 * stored bytes and decode them only if someone looks — transports send the bytes as they are.
 */
export function defineLazy<T extends object, K extends keyof T>(obj: T, key: K, compute: () => T[K]): T {
  let value: T[K] | undefined;
  let done = false;
  Object.defineProperty(obj, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      if (!done) {
        value = compute();
        done = true;
      }
      return value;
    },
    set: (v: T[K]) => {
      value = v;
      done = true;
    },
  });
  return obj;
}

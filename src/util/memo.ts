/**
 * Remembers `fn`'s answer per string argument, for pure functions that are called
 * again and again with the same arguments (a derived id hashed for every contact of
 * every address-book request). At most `max` answers are kept; past that the memory
 * starts over, so it stays bounded whatever the traffic.
 */
export function memoize<T>(fn: (key: string) => T, max = 50_000): (key: string) => T {
  const known = new Map<string, T>();
  return (key) => {
    const hit = known.get(key);
    if (hit !== undefined) return hit;
    const value = fn(key);
    if (known.size >= max) known.clear();
    known.set(key, value);
    return value;
  };
}

/**
 * Per-object state keyed by namespace, then name: the controller's watched state for 100k
 * objects. Nested maps keyed by the names the watch parsed hold no joined key per object (a
 * `ns/name` key costs a concatenated string and its flattened copy for each entry, about ten
 * times the entry itself).
 */
export class ObjectIndex<V> {
  private readonly byNamespace = new Map<string, Map<string, V>>()
  private count = 0

  get(namespace: string, name: string): V | undefined {
    return this.byNamespace.get(namespace)?.get(name)
  }

  set(namespace: string, name: string, value: V): void {
    let names = this.byNamespace.get(namespace)
    if (names === undefined) this.byNamespace.set(namespace, names = new Map())
    if (!names.has(name)) this.count++
    names.set(name, value)
  }

  delete(namespace: string, name: string): void {
    const names = this.byNamespace.get(namespace)
    if (names === undefined || !names.delete(name)) return
    this.count--
    if (names.size === 0) this.byNamespace.delete(namespace)
  }

  get size(): number {
    return this.count
  }

  *entries(): IterableIterator<[namespace: string, name: string, value: V]> {
    for (const [namespace, names] of this.byNamespace) for (const [name, value] of names) yield [namespace, name, value]
  }
}

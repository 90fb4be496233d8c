// Channel spaces: sets of channel dimensions that must shrink together, merged with union-find. A space is cut
// into `units` equal blocks and pruning keeps or drops whole units: one channel for an FFN hidden unit, a head
// (or a key/value head with its query heads, for grouped-query attention) when the channels go through a head
// reshape. A space that meets something the analysis cannot follow is poisoned and stays whole.

export class SpaceTable {
  private readonly parent: number[] = [];
  private readonly unitCount: number[] = [];
  private readonly poisonReason: (string | undefined)[] = [];

  /** A new space of `length` channels, one unit per channel until a reshape asks for coarser units. */
  create(length: number): number {
    const id = this.parent.length;
    this.parent.push(id);
    this.unitCount.push(length);
    this.poisonReason.push(length > 1 ? undefined : 'one channel');
    return id;
  }

  get size(): number {
    return this.parent.length;
  }

  find(id: number): number {
    let root = id;
    while (this.parent[root] !== root) root = this.parent[root];
    while (this.parent[id] !== root) [id, this.parent[id]] = [this.parent[id], root];
    return root;
  }

  union(a: number, b: number): number {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra === rb) return ra;
    this.parent[rb] = ra;
    this.unitCount[ra] = gcd(this.unitCount[ra], this.unitCount[rb]);
    this.poisonReason[ra] ??= this.poisonReason[rb];
    return ra;
  }

  /** Units must tile a dimension of `length` (e.g. the head axis after a reshape): units := gcd(units, length). */
  constrain(id: number, length: number): void {
    const r = this.find(id);
    this.unitCount[r] = gcd(this.unitCount[r], length);
    if (this.unitCount[r] <= 1) this.poison(r, 'its channels cannot be split into more than one prunable unit');
  }

  units(id: number): number {
    return this.unitCount[this.find(id)];
  }

  /** The first reason recorded wins: it is the one a report should show. */
  poison(id: number, reason: string): void {
    const r = this.find(id);
    this.poisonReason[r] ??= reason;
  }

  poisoned(id: number): string | undefined {
    return this.poisonReason[this.find(id)];
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

// Names of the files a run writes under bench/results/: <date>-<commit>
// (plus -dirty / -quick), and -run2, -run3, ... when a run of the same
// commit already wrote that name that day, so no run's raw records are
// overwritten by the next.
import fs from 'node:fs';
import path from 'node:path';

/** The first of `base`, `base-run2`, `base-run3`, ... with no .json in `dir`. */
export function freeResultsStem(dir, base) {
  if (!fs.existsSync(path.join(dir, `${base}.json`))) return base;
  for (let n = 2; ; n++) {
    const stem = `${base}-run${n}`;
    if (!fs.existsSync(path.join(dir, `${stem}.json`))) return stem;
  }
}

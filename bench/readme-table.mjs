#!/usr/bin/env node
// Prints the README's headline table made from a results file, or with
// --write puts it into README.md between the bench-table markers.
//
// usage: node bench/readme-table.mjs <results.json> [--write]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { headlineMarkdown, replaceBlock } from './js/headline.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const write = args.includes('--write');
const files = args.filter((a) => a !== '--write');
if (files.length !== 1 || files[0].startsWith('-')) {
  process.stderr.write('usage: node bench/readme-table.mjs <results.json> [--write]\n');
  process.exit(2);
}
const file = path.resolve(files[0]);
const run = JSON.parse(fs.readFileSync(file, 'utf8'));
// Links in the table are relative to the repository root (where README.md is).
const source = path.relative(root, file).split(path.sep).join('/');
const body = headlineMarkdown(run, { source });
if (write) {
  const readme = path.join(root, 'README.md');
  fs.writeFileSync(readme, replaceBlock(fs.readFileSync(readme, 'utf8'), body));
  process.stdout.write(`README.md: headline table from ${source}\n`);
} else {
  process.stdout.write(`${body}\n`);
}

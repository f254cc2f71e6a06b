// node-gyp-build ships no types: it loads the addon of the package at `dir`.
declare module 'node-gyp-build' {
  function load(dir: string): unknown;
  export = load;
}

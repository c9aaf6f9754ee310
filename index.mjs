// index.mjs: ESM entry point. Named exports and the default export are the CommonJS exports.
//
// Like lib/index.js, it loads lib/memory.js (read, toArrayBuffer, toBuffer, CString) and
// lib/layout.js (struct, union, array) on first use, not at import: an ES module binds every
// named export when it is evaluated, and reading these from the CommonJS object loaded both
// modules, ~2 ms more for every `import ... from "cffi"`. Until its first use each of them is a
// stand-in that behaves as the real one (calls, `new`, properties, `instanceof`); that use
// loads the module and rebinds the export to the real value, so from then on it is the very
// function or object `require("cffi")` gives, at no cost. (A copy of a stand-in taken before
// that, such as `const r = read`, keeps working, through the stand-in.)
import { createRequire } from "node:module";

const cffi = createRequire(import.meta.url)("./lib/index.js");

export default cffi;
export const { FFIType, dlopen, linkSymbols, CFunction, JSCallback, ptr, viewSource, suffix, native, cc, errno } = cffi;

// The stand-in for cffi[name]: a Proxy that forwards to the real value, which it takes
// (loading its module) and hands to rebind() on first use. Its target has no own properties
// the real value could contradict: a bound function (callable and constructible, no
// `prototype`) or a plain object, with only a hook for util.inspect (console.log), which looks
// at a Proxy's target without asking the Proxy.
function standIn(name, rebind, callable = true) {
  const real = () => {
    const value = cffi[name];
    rebind(value);
    return value;
  };
  const target = callable ? function () {}.bind(null) : {};
  target[Symbol.for("nodejs.util.inspect.custom")] = (depth, options, inspect) => inspect(real(), options);
  const proxy = new Proxy(target, {
    apply: (_, self, args) => Reflect.apply(real(), self, args),
    construct: (_, args, newTarget) => {
      const r = real();
      return Reflect.construct(r, args, newTarget === proxy ? r : newTarget);
    },
    get: (_, key) => Reflect.get(real(), key),
    set: (_, key, value) => Reflect.set(real(), key, value),
    has: (_, key) => Reflect.has(real(), key),
    deleteProperty: (_, key) => Reflect.deleteProperty(real(), key),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), key);
      return d && { ...d, configurable: true }; // the target has none of these
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
  return proxy;
}

export let read = standIn("read", (v) => (read = v), false);
export let toArrayBuffer = standIn("toArrayBuffer", (v) => (toArrayBuffer = v));
export let toBuffer = standIn("toBuffer", (v) => (toBuffer = v));
export let CString = standIn("CString", (v) => (CString = v));
export let struct = standIn("struct", (v) => (struct = v));
export let union = standIn("union", (v) => (union = v));
export let array = standIn("array", (v) => (array = v));

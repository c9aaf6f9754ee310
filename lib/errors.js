// errors.js: error constructors with Node-style `code` properties, shared by every module.
"use strict";

function withCode(err, code) {
  if (code) Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
  return err;
}

const codedTypeError = (code, msg) => withCode(new TypeError(msg), code);
const codedError = (code, msg) => withCode(new Error(msg), code);
const codedRangeError = (code, msg) => withCode(new RangeError(msg), code);

module.exports = { withCode, codedTypeError, codedError, codedRangeError };

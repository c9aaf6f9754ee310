# The repository's build entry point for node-gyp (`npm install` / `npm run build` in a clone).
# The description itself is src/cffi.gypi, shared with the packed package's src/binding.gyp.
{
  "includes": ["src/cffi.gypi"]
}

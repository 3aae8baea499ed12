// `express4` is the npm alias of Express 4 (package.json devDependencies), for the behaviour
// suite only. It has no typings of its own; the adapter's are those of @types/express (5), and
// what the test app uses of Express is the same in both.
declare module 'express4' {
  import express from 'express';
  export default express;
}

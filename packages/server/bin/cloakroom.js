#!/usr/bin/env node
// The `cloakroom` command. A file of its own, present before the first build, so `npm install`
// links it; the CLI itself is compiled to dist/ (`npm run build`).
import '../dist/cli/main.js';

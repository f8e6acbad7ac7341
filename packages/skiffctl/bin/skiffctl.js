#!/usr/bin/env node
// The skiffctl program; its code is built into dist/ by `make build`.
import { main } from "../dist/main.js";

await main();

#!/usr/bin/env node
// The skiff-dns program; its code is built into dist/ by `make build`.
import "../dist/main.js";

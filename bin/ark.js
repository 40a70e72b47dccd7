#!/usr/bin/env node
import "../src/programs/main.ts"

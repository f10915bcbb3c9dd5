#!/usr/bin/env node
import "../dist/chorus.mjs";

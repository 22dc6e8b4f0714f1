#!/usr/bin/env node
// The `rowshard` command of the installed package: the CLI, as `pnpm rowshard` runs it in the repository.
import '@rowshard/cli/main';

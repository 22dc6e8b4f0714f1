/**
 * What a user model module sees as `rowshard/nn`: this package, plus the table declaration it
 * needs from the core (a model declares its tables with `tableSpec`).
 */
export { type TableSpec, type TableSpecInput, tableSpec } from '@rowshard/core';

import type { ResolvedJob } from '@rowshard/nn';
import { readHashedPretrained } from './hashed-pretrained.js';
import { checkPretrained, type PretrainedInfo } from './pretrained.js';

/**
 * Every pretrained table's file read and fitted to its table, without keeping the rows: what
 * `rowshard train` (and a cluster's `rowshard coordinator`) checks before any process starts.
 */
export function checkPretrainedTables({ job, model }: ResolvedJob): PretrainedInfo[] {
  const checked: PretrainedInfo[] = [];
  for (const spec of model.tables) {
    const source = job.tables[spec.name]?.pretrained;
    if (source) checked.push(spec.kind === 'hashed' ? readHashedPretrained(spec, source).info : checkPretrained(spec, source));
  }
  return checked;
}

import type { ModuleImporter } from '@rowshard/nn';
import type { TransportOptions } from '@rowshard/transport';

/** What Coordinator.start needs: the job, where to listen, the cluster's token, and how to load user code and fixtures. */
export interface CoordinatorOptions {
  /** The job as JSON (paths inside already absolute). */
  readonly job: Record<string, unknown>;
  readonly host?: string;
  readonly port?: number;
  /**
   * The cluster token: peers present role credentials derived from it, the coordinator its
   * own to the shards, and the dashboard asks for it; null turns authentication off.
   */
  readonly token: string | null;
  readonly transport?: Partial<TransportOptions>;
  readonly importModule: ModuleImporter;
  /** Reads a JSON file (initial-state fixtures). */
  readonly readJson: (path: string) => unknown;
  /** Serve the dashboard page and /api/status on the RPC port (/metrics is always served). */
  readonly dashboard?: boolean;
}

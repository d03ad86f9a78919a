// The AIX / IBM i cluster hang guard (nodejs/node 40724).
export { clusterHangExposure, type ClusterHangExposure } from './exposure.js';
export {
  protectCluster,
  type ClusterProtectionReport,
  type ClusterSetting,
  type ClusterSettingReport,
  type ProtectClusterOptions,
} from './protect-cluster.js';

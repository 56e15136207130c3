import ThriftHiveMetastore from './gen/ThriftHiveMetastore.js';
import hmsTypes from './gen/hive_metastore_types.js';
import * as ns from './gen/hive_metastore_types.js';
const t: hmsTypes.Table = new hmsTypes.Table();
console.log(typeof ThriftHiveMetastore.Client, typeof hmsTypes.Table, t.ownerType, hmsTypes.ClientCapability.INSERT_ONLY_TABLES, typeof ns.Table);

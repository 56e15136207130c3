package org.apache.hadoop.hive.kafka;

import org.apache.hadoop.hive.metastore.HiveMetaHook;
import org.apache.hadoop.hive.ql.ddl.table.AlterTableType;
import org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat;
import org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat;
import org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe;
import org.apache.hadoop.hive.ql.metadata.DefaultStorageHandler;
import org.apache.hadoop.hive.serde2.AbstractSerDe;
import org.apache.hadoop.mapred.InputFormat;
import org.apache.hadoop.mapred.OutputFormat;

/**
 * STORED BY target for tables that hive-kafka fills from a Kafka topic. Hive reads the table as the
 * Parquet files the service publishes; ingestion itself runs in the service, never in Hive.
 */
public class KafkaStreamStorageHandler extends DefaultStorageHandler {

  @Override
  public Class<? extends InputFormat> getInputFormatClass() {
    return MapredParquetInputFormat.class;
  }

  @Override
  public Class<? extends OutputFormat> getOutputFormatClass() {
    return MapredParquetOutputFormat.class;
  }

  @Override
  public Class<? extends AbstractSerDe> getSerDeClass() {
    return ParquetHiveSerDe.class;
  }

  /** Hive's default for handler tables (properties, new columns), plus RENAME: the service follows a table by id. */
  @Override
  public boolean isAllowedAlterOperation(AlterTableType opType) {
    return opType == AlterTableType.ADDPROPS || opType == AlterTableType.DROPPROPS
        || opType == AlterTableType.ADDCOLS || opType == AlterTableType.RENAME;
  }

  @Override
  public HiveMetaHook getMetaHook() {
    return new KafkaStreamMetaHook();
  }
}

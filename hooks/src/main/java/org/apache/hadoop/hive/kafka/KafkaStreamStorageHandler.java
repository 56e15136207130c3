package org.apache.hadoop.hive.kafka;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.hadoop.hive.metastore.HiveMetaHook;
import org.apache.hadoop.hive.metastore.api.EnvironmentContext;
import org.apache.hadoop.hive.ql.ddl.table.AbstractAlterTableDesc;
import org.apache.hadoop.hive.ql.ddl.table.AlterTableType;
import org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat;
import org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat;
import org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe;
import org.apache.hadoop.hive.ql.metadata.DefaultStorageHandler;
import org.apache.hadoop.hive.ql.plan.TableDesc;
import org.apache.hadoop.hive.serde2.AbstractSerDe;
import org.apache.hadoop.mapred.InputFormat;
import org.apache.hadoop.mapred.OutputFormat;

/**
 * STORED BY target for tables that hive-kafka fills from a Kafka topic. Hive reads the table as the
 * Parquet files the service publishes; ingestion itself runs in the service, never in Hive.
 */
public class KafkaStreamStorageHandler extends DefaultStorageHandler {

  private static final AlterRules ALTER = AlterRules.load();

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

  /**
   * Hive's default for handler tables (properties, new columns), plus RENAME (the service follows a table
   * by id) and CHANGE COLUMN / REPLACE COLUMNS, which the meta hook judges by kafka.schema.compatibility.
   */
  @Override
  public boolean isAllowedAlterOperation(AlterTableType opType) {
    return opType == AlterTableType.ADDPROPS || opType == AlterTableType.DROPPROPS || opType == AlterTableType.RENAME
        || opType == AlterTableType.ADDCOLS || opType == AlterTableType.RENAME_COLUMN || opType == AlterTableType.REPLACE_COLUMNS;
  }

  /**
   * Every column change cascades to the table's partitions, as ALTER ... CASCADE would: the service writes
   * each partition with the table's current columns, and Hive reads a partition with the columns stored
   * for it, so without this an existing partition would hide a new column (NULL) and read a widened
   * one with its old type (values beyond INT read wrong).
   */
  @Override
  public void prepareAlterTableEnvironmentContext(AbstractAlterTableDesc desc, EnvironmentContext context) {
    AlterTableType type = desc.getType();
    if (type == AlterTableType.ADDCOLS || type == AlterTableType.RENAME_COLUMN || type == AlterTableType.REPLACE_COLUMNS) {
      context.putToProperties("CASCADE", "true"); // StatsSetupConst.CASCADE, read by the metastore's HiveAlterHandler
    }
  }

  @Override
  public HiveMetaHook getMetaHook() {
    return new KafkaStreamMetaHook(getConf());
  }

  /**
   * Refuses INSERT INTO / OVERWRITE while Hive compiles it: the semantic analyzer calls this for every file
   * sink it plans (FileSinkOperator.augmentPlan), and never for reads or DDL. Without it the statement
   * failed only when its job ran ("Output directory not set"). The service is the table's only writer.
   */
  @Override
  public void configureOutputJobProperties(TableDesc tableDesc, Map<String, String> jobProperties) {
    List<String> topics = AlterRules.valuesOf(asMap(tableDesc.getProperties()), AlterRules.TOPIC);
    String topic = topics.isEmpty() ? "(none)" : topics.get(0).trim();
    throw new UnsupportedOperationException(ALTER.hiveWriteRefusal(tableDesc.getTableName(), topic));
  }

  private static Map<String, String> asMap(Properties properties) {
    Map<String, String> map = new HashMap<>();
    for (String key : properties.stringPropertyNames()) map.put(key, properties.getProperty(key));
    return map;
  }
}

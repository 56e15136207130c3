package org.apache.hadoop.hive.kafka;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.metastore.HiveMetaHook;
import org.apache.hadoop.hive.metastore.HiveMetaStoreClient;
import org.apache.hadoop.hive.metastore.IMetaStoreClient;
import org.apache.hadoop.hive.metastore.api.EnvironmentContext;
import org.apache.hadoop.hive.metastore.api.MetaException;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.metastore.conf.MetastoreConf;
import org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat;
import org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat;
import org.apache.thrift.TException;

/**
 * Refuses bad DDL before the metastore stores it, so it fails in beeline and the service never sees it:
 * bad TBLPROPERTIES, a kafka.topic change, and column changes that kafka.schema.compatibility forbids.
 * It runs inside HiveServer2's metastore client.
 */
public class KafkaStreamMetaHook implements HiveMetaHook {

  private static final TablePropertyRules RULES = TablePropertyRules.load();
  private static final AlterRules ALTER = AlterRules.load();
  // Operations Hive's own preAlterTable refuses for handler tables, which stream tables allow: a rename
  // (the service follows a table by id) and column changes (judged against the stored columns).
  private static final List<String> OWN_OPERATIONS = Arrays.asList("RENAME", "ADDCOLS", "RENAME_COLUMN", "REPLACE_COLUMNS");

  private final Configuration conf;

  /** `conf`: HiveServer2's, to read the table as stored; null falls back to the metastore-site.xml on the classpath. */
  public KafkaStreamMetaHook(Configuration conf) {
    this.conf = conf;
  }

  @Override
  public void preCreateTable(Table table) throws MetaException {
    validate(table);
    storeFormats(table);
  }

  /**
   * Records the Parquet formats the handler reads with in the table's storage descriptor, which Hive
   * leaves empty for STORED BY tables. Hive 4.0.1's CHANGE COLUMN compares the stored input format
   * with ORC's without a null check (AlterTableChangeColumnOperation), and partitions registered by
   * the service copy the table's descriptor. A table created before this is mended by its next ALTER.
   */
  private static void storeFormats(Table table) {
    if (table.getSd() == null) return;
    if (table.getSd().getInputFormat() == null) table.getSd().setInputFormat(MapredParquetInputFormat.class.getName());
    if (table.getSd().getOutputFormat() == null) table.getSd().setOutputFormat(MapredParquetOutputFormat.class.getName());
  }

  @Override
  public void preAlterTable(Table table, EnvironmentContext context) throws MetaException {
    String op = context == null || context.getProperties() == null ? null : context.getProperties().get(ALTER_TABLE_OPERATION_TYPE);
    if (!OWN_OPERATIONS.contains(op)) {
      HiveMetaHook.super.preAlterTable(table, context); // Hive's own limits for the rest (properties only)
    }
    if (!"RENAME".equals(op)) {
      List<String> problems = changeProblems(table, storedTable(table));
      if (!problems.isEmpty()) throw new MetaException(String.join("\n", problems));
    }
    validate(table);
    storeFormats(table);
  }

  /** What the ALTER would change that a stream table cannot take: its topic, or columns its mode forbids. */
  private static List<String> changeProblems(Table asked, Table stored) {
    String name = nameOf(asked);
    List<String> problems = new ArrayList<>();
    List<String> oldTopics = AlterRules.valuesOf(stored.getParameters(), AlterRules.TOPIC);
    if (!oldTopics.isEmpty()) {
      List<String> newTopics = AlterRules.valuesOf(asked.getParameters(), AlterRules.TOPIC);
      if (newTopics.isEmpty()) newTopics.add(null);
      for (String topic : newTopics) {
        String problem = ALTER.topicProblem(name, oldTopics.get(0), topic);
        if (problem != null) problems.add(problem);
      }
    }
    String mode = ALTER.modeOf(asked.getParameters());
    if (mode != null) problems.addAll(ALTER.columnProblems(name, stored.getSd().getCols(), asked.getSd().getCols(), mode));
    return problems;
  }

  /** The table as the metastore holds it before this ALTER (preAlterTable is given only the new one). */
  private Table storedTable(Table asked) throws MetaException {
    IMetaStoreClient client = null;
    try {
      client = new HiveMetaStoreClient(conf != null ? conf : MetastoreConf.newMetastoreConf());
      return asked.isSetCatName()
          ? client.getTable(asked.getCatName(), asked.getDbName(), asked.getTableName())
          : client.getTable(asked.getDbName(), asked.getTableName());
    } catch (TException e) {
      throw new MetaException("table " + nameOf(asked) + ": hive-kafka cannot read the table as stored to check this ALTER: " + e.getMessage());
    } finally {
      if (client != null) client.close();
    }
  }

  private static void validate(Table table) throws MetaException {
    List<String> problems = RULES.check(table.getParameters());
    if (!problems.isEmpty()) {
      StringBuilder message = new StringBuilder();
      for (String p : problems) {
        message.append(message.length() == 0 ? "" : "\n").append("table ").append(nameOf(table)).append(": ").append(p);
      }
      throw new MetaException(message.toString());
    }
  }

  private static String nameOf(Table table) {
    return table.getDbName() + "." + table.getTableName();
  }

  @Override public void rollbackCreateTable(Table table) {}
  @Override public void commitCreateTable(Table table) {}
  @Override public void preDropTable(Table table) {}
  @Override public void rollbackDropTable(Table table) {}
  @Override public void commitDropTable(Table table, boolean deleteData) {}
}

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs Neo4j Community embedded with its Bolt connector, the route Neo4j's Java
 * reference documents as "Accessing Neo4j embedded via the Bolt protocol".
 *
 * Arguments: HOME HOST PORT PAGECACHE_BYTES TX_MEMORY_BYTES TX_LOG_RETENTION PASSWORD_FILE
 * The neo4j user's password is read from PASSWORD_FILE (mode 600), never from the command
 * line or the environment, which other processes can read in /proc.
 *
 * On the first start the password is set while Bolt is still closed, so the
 * default neo4j/neo4j credentials are never reachable over the network.
 */
public final class CrossgraphNeo4j {
    private static final String READY = "CROSSGRAPH_NEO4J_READY";

    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: CrossgraphNeo4j HOME HOST PORT PAGECACHE_BYTES TX_MEMORY_BYTES "
                + "TX_LOG_RETENTION PASSWORD_FILE");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        long pageCache = Long.parseLong(args[3]);
        long txMemory = Long.parseLong(args[4]);
        String txLogRetention = args[5];
        Path passwordFile = Path.of(args[6]);
        String password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
        if (password.length() < 8) {
            System.err.println(passwordFile + " must hold a password of at least 8 characters");
            System.exit(2);
        }

        Path marker = home.resolve("data").resolve("crossgraph-auth-initialised");
        if (!Files.exists(marker)) {
            DatabaseManagementService setup = builder(home, host, port, pageCache, txMemory, txLogRetention, false).build();
            setup.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                Map.of("password", password));
            setup.shutdown();
            Files.writeString(marker, "password set by crossgraph\n", StandardCharsets.UTF_8);
        }

        DatabaseManagementService service = builder(home, host, port, pageCache, txMemory, txLogRetention, true).build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("crossgraph: shutting down Neo4j");
            service.shutdown();
            stopped.countDown();
        }, "crossgraph-shutdown"));
        System.out.println(READY + " bolt://" + host + ":" + port);
        System.out.flush();
        stopped.await();
    }

    private static DatabaseManagementServiceBuilder builder(
            Path home, String host, int port, long pageCache, long txMemory, String txLogRetention,
            boolean bolt) {
        return new DatabaseManagementServiceBuilder(home)
            .setConfig(GraphDatabaseSettings.auth_enabled, true)
            .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
            .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMemory)
            .setConfig(GraphDatabaseSettings.keep_logical_logs, txLogRetention)
            .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(30))
            // Bolt's network threads wait for a quiet period of 5 s each (netty's graceful shutdown)
            // after the databases are already checkpointed and stopped: 10 s of every stop, and of
            // load --initial's restart. Nothing is left for them to do by then.
            .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
            .setConfig(BoltConnector.enabled, bolt)
            .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
            .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port));
    }
}

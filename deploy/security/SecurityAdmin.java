// The I/O half of `yidi security apply|check`: Kafka's own Admin API (from the broker's jars),
// because aiokafka 0.14 has no SCRAM-credential API and no ACL API (only ACL protocol structs).
// Python decides what should exist (services/ops/security.py); this program only reports what
// does and makes the changes it is given. Run: java -cp '<kafka libs>/*' SecurityAdmin.java
//   describe CONFIG          -> stdout lines: USER name | ACL principal type pattern name op perm host
//   apply CONFIG < changes   <- stdin lines:  UPSERT_USER name password | DELETE_USER name
//                                             CREATE_ACL ... | DELETE_ACL ... (as describe prints)
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

public class SecurityAdmin {
  static final int ITERATIONS = 8192;

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    try (FileInputStream in = new FileInputStream(args[1])) { props.load(in); }
    try (Admin admin = Admin.create(props)) {
      if (args[0].equals("describe")) describe(admin);
      else if (args[0].equals("apply")) apply(admin);
      else throw new IllegalArgumentException("describe|apply");
    }
  }

  static void describe(Admin admin) throws Exception {
    Map<String, UserScramCredentialsDescription> users = admin.describeUserScramCredentials().all().get();
    for (UserScramCredentialsDescription d : users.values()) {
      for (ScramCredentialInfo info : d.credentialInfos()) {
        System.out.println("USER " + d.name() + " " + info.mechanism().mechanismName());
      }
    }
    for (AclBinding b : admin.describeAcls(AclBindingFilter.ANY).values().get()) {
      System.out.println("ACL " + line(b));
    }
  }

  static String line(AclBinding b) {
    ResourcePattern p = b.pattern();
    AccessControlEntry e = b.entry();
    return String.join(" ", e.principal(), p.resourceType().name(), p.patternType().name(), p.name(),
        e.operation().name(), e.permissionType().name(), e.host());
  }

  static AclBinding binding(String[] f) {
    return new AclBinding(
        new ResourcePattern(ResourceType.valueOf(f[2]), f[4], PatternType.valueOf(f[3])),
        new AccessControlEntry(f[1], f[7], AclOperation.valueOf(f[5]), AclPermissionType.valueOf(f[6])));
  }

  static void apply(Admin admin) throws Exception {
    List<UserScramCredentialAlteration> users = new ArrayList<>();
    List<AclBinding> create = new ArrayList<>();
    List<AclBindingFilter> delete = new ArrayList<>();
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String l; (l = r.readLine()) != null; ) {
      if (l.isBlank()) continue;
      String[] f = l.trim().split(" ");
      switch (f[0]) {
        case "UPSERT_USER" -> users.add(new UserScramCredentialUpsertion(
            f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS), f[2]));
        case "DELETE_USER" -> users.add(new UserScramCredentialDeletion(f[1], ScramMechanism.SCRAM_SHA_512));
        case "CREATE_ACL" -> create.add(binding(f));
        case "DELETE_ACL" -> {
          AclBinding b = binding(f);
          delete.add(new AclBindingFilter(
              new ResourcePatternFilter(b.pattern().resourceType(), b.pattern().name(), b.pattern().patternType()),
              new AccessControlEntryFilter(b.entry().principal(), b.entry().host(), b.entry().operation(),
                  b.entry().permissionType())));
        }
        default -> throw new IllegalArgumentException("unknown change: " + f[0]);
      }
    }
    if (!users.isEmpty()) admin.alterUserScramCredentials(users).all().get();
    if (!create.isEmpty()) admin.createAcls(create).all().get();
    if (!delete.isEmpty()) admin.deleteAcls(delete).all().get();
    System.out.println("APPLIED users=" + users.size() + " acls_created=" + create.size()
        + " acls_deleted=" + delete.size());
  }
}

// Writes test-vectors/receipts/java-sha256withecdsa.json: a P-256 signature made by Java's
// SHA256withECDSA (the provider Android Keystore mirrors), in ASN.1 DER, with its public key.
// rust-core converts DER to COSE's raw r||s and must verify it.
//
//     java scripts/java/JavaDerFixture.java > test-vectors/receipts/java-sha256withecdsa.json
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.HexFormat;

public class JavaDerFixture {
    public static void main(String[] args) throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = gen.generateKeyPair();
        HexFormat hex = HexFormat.of();
        String made = "Made by scripts/java/JavaDerFixture.java on " + System.getProperty("java.vendor") + " " + System.getProperty("java.version");
        StringBuilder out = new StringBuilder("{\n  \"note\": \"" + made + "\",\n  \"cases\": [\n");
        String[] messages = {"Salur receipt Sig_structure stand-in", "", "x".repeat(1000)};
        for (int i = 0; i < messages.length; i++) {
            byte[] message = messages[i].getBytes(StandardCharsets.UTF_8);
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(pair.getPrivate());
            s.update(message);
            byte[] der = s.sign();
            out.append("    {\"message_hex\": \"").append(hex.formatHex(message))
               .append("\", \"der_signature_hex\": \"").append(hex.formatHex(der)).append("\"}")
               .append(i + 1 < messages.length ? ",\n" : "\n");
        }
        out.append("  ],\n  \"spki_hex\": \"").append(hex.formatHex(pair.getPublic().getEncoded())).append("\"\n}\n");
        System.out.print(out);
    }
}

package dev.loomstack.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.test.web.servlet.MockMvc;

/**
 * {@code openapi.yaml} at the repository root is the API's contract: the running application's
 * document must equal it. After an intended change, regenerate it with
 * {@code ./mvnw test -Dtest=OpenApiContractTest -Dopenapi.update=true} and review the diff.
 */
@SpringBootTest(properties = {"loomstack.link=memory", "loomstack.admin.token=contract",
        "server.port=0", "management.server.port=", "loomstack.state-dir=target/openapi-state"})
@AutoConfigureMockMvc
class OpenApiContractTest {
    static final Path CONTRACT = Path.of("openapi.yaml");

    @Autowired
    MockMvc mvc;

    @Test
    void theServedDocumentIsTheCheckedInContract() throws Exception {
        String served = mvc.perform(get("/v3/api-docs.yaml")).andExpect(status().isOk())
                .andReturn().getResponse().getContentAsString(StandardCharsets.UTF_8);
        if (Boolean.getBoolean("openapi.update")) {
            Files.writeString(CONTRACT, served);
        }
        assertEquals(Files.readString(CONTRACT), served,
                "the API changed: review it and regenerate openapi.yaml (see this test's comment)");
    }

    @Test
    void swaggerUiIsServed() throws Exception {
        mvc.perform(get("/swagger-ui/index.html")).andExpect(status().isOk());
    }
}
